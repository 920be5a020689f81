//! A tiny MaxMind-format country database, written by the tests (no download): a handful
//! of networks mapped to countries, enough for the GeoIP features to be exercised for real
//! through the `maxminddb` reader the server uses.

use std::net::IpAddr;
use std::path::PathBuf;

enum Value<'a> {
    Text(&'a str),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'a str, Value<'a>)>),
    Array(Vec<Value<'a>>),
}

fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (short, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 285 {
        (29, vec![(size - 29) as u8])
    } else {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    };
    if kind <= 7 {
        out.push(kind << 5 | short);
    } else {
        out.push(short);
        out.push(kind - 7);
    }
    out.extend(extra);
}

fn unsigned(out: &mut Vec<u8>, kind: u8, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = (value.leading_zeros() / 8) as usize;
    control(out, kind, 8 - skip);
    out.extend(&bytes[skip..]);
}

fn encode(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Text(text) => {
            control(out, 2, text.len());
            out.extend(text.as_bytes());
        }
        Value::U16(n) => unsigned(out, 5, u64::from(*n)),
        Value::U32(n) => unsigned(out, 6, u64::from(*n)),
        Value::U64(n) => unsigned(out, 9, *n),
        Value::Map(entries) => {
            control(out, 7, entries.len());
            for (key, value) in entries {
                encode(out, &Value::Text(key));
                encode(out, value);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for item in items {
                encode(out, item);
            }
        }
    }
}

/// An IPv6 tree (IPv4 networks at `::a.b.c.d`) with 24-bit records; networks must not
/// overlap. Entries: network, prefix length, ISO code, English name.
fn build(entries: &[(IpAddr, u8, &str, &str)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    for (_, _, iso, name) in entries {
        offsets.push(data.len());
        let record = Value::Map(vec![(
            "country",
            Value::Map(vec![
                ("iso_code", Value::Text(iso)),
                ("names", Value::Map(vec![("en", Value::Text(name))])),
            ]),
        )]);
        encode(&mut data, &record);
    }
    #[derive(Clone, Copy)]
    enum Record {
        Empty,
        Node(usize),
        Data(usize),
    }
    let mut nodes = vec![[Record::Empty; 2]];
    for (index, (ip, length, _, _)) in entries.iter().enumerate() {
        let (bits, prefix) = match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(*v4)), usize::from(*length) + 96),
            IpAddr::V6(v6) => (u128::from(*v6), usize::from(*length)),
        };
        let mut node = 0;
        for depth in 0..prefix {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth == prefix - 1 {
                nodes[node][bit] = Record::Data(index);
                break;
            }
            node = match nodes[node][bit] {
                Record::Node(next) => next,
                _ => {
                    nodes.push([Record::Empty; 2]);
                    let next = nodes.len() - 1;
                    nodes[node][bit] = Record::Node(next);
                    next
                }
            };
        }
    }
    let count = nodes.len();
    let value = |record: Record| match record {
        Record::Empty => count,
        Record::Node(next) => next,
        Record::Data(index) => count + 16 + offsets[index],
    };
    let mut out = Vec::new();
    for [left, right] in &nodes {
        out.extend(&(value(*left) as u32).to_be_bytes()[1..]);
        out.extend(&(value(*right) as u32).to_be_bytes()[1..]);
    }
    out.extend([0u8; 16]);
    out.extend(&data);
    out.extend(b"\xAB\xCD\xEFMaxMind.com");
    encode(
        &mut out,
        &Value::Map(vec![
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(1_700_000_000)),
            ("database_type", Value::Text("GeoIP2-Country")),
            ("description", Value::Map(vec![("en", Value::Text("test"))])),
            ("ip_version", Value::U16(6)),
            ("languages", Value::Array(vec![Value::Text("en")])),
            ("node_count", Value::U32(count as u32)),
            ("record_size", Value::U16(24)),
        ]),
    );
    out
}

/// France for 81.2.69.0/24 and 2001:db8:f::/48, Sweden for 89.160.20.0/24, Germany for
/// 2a00:1450::/32; written to a file of this test's own.
pub fn test_database() -> PathBuf {
    let bytes = build(&[
        ("81.2.69.0".parse().unwrap(), 24, "FR", "France"),
        ("2001:db8:f::".parse().unwrap(), 48, "FR", "France"),
        ("89.160.20.0".parse().unwrap(), 24, "SE", "Sweden"),
        ("2a00:1450::".parse().unwrap(), 32, "DE", "Germany"),
    ]);
    let path = std::env::temp_dir().join(format!("geoip-{}.mmdb", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).unwrap();
    path
}

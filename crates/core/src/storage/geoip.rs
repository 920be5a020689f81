//! The country of an address, from a MaxMind-format database (`GEOIP_DB`, e.g. GeoLite2
//! Country), read once at start-up.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use maxminddb::geoip2::Country;

pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the GeoIP database {path}")]
pub struct GeoIpError {
    path: String,
    #[source]
    source: maxminddb::MaxMindDbError,
}

impl GeoIp {
    pub fn open(path: &Path) -> Result<Self, GeoIpError> {
        Reader::open_readfile(path)
            .map(|reader| Self { reader })
            .map_err(|source| GeoIpError {
                path: path.display().to_string(),
                source,
            })
    }

    /// The ISO 3166 code of the address's country, if the database knows it.
    pub fn country(&self, ip: &str) -> Option<String> {
        let ip: IpAddr = ip.parse().ok()?;
        // Addresses reach us as IPv4 or IPv4-mapped IPv6: look both up as IPv4.
        let ip = ip.to_canonical();
        let found = self.reader.lookup(ip).ok()?;
        let country: Country<'_> = found.decode().ok()??;
        country.country.iso_code.map(str::to_owned)
    }
}

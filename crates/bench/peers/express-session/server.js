// scripts/bench's Node peer for logins: express with express-session and connect-redis as
// their documentation sets them up (Redis at 127.0.0.1:6379), hashing with @node-rs/argon2
// (the reference implementation with runtime-selected SIMD, on libuv's thread pool).
//
// POST /login {"email","password"} verifies the password against PEER_PASSWORD_HASH (the
// same PHC string, same cost, as the API's seeded users), then starts a session in Redis
// and answers JSON. It looks no user up: a peer that does less than the API per login, so
// matching it is a fair bar. GET /me answers the session's user, or 401.
import { verify } from "@node-rs/argon2";
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { createClient } from "redis";

const port = Number(process.env.PORT);
const hash = process.env.PEER_PASSWORD_HASH;
if (!port || !hash) {
  console.error("PORT and PEER_PASSWORD_HASH are required");
  process.exit(2);
}

const redisClient = createClient({ url: "redis://127.0.0.1:6379" });
await redisClient.connect();

const app = express();
app.use(express.json());
app.use(
  session({
    store: new RedisStore({ client: redisClient, prefix: "bench-express:" }),
    secret: process.env.PEER_SESSION_SECRET ?? "bench peer secret, loopback only",
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax" },
  }),
);

app.post("/login", async (req, res, next) => {
  try {
    const { email, password } = req.body ?? {};
    if (typeof email !== "string" || typeof password !== "string") {
      return res.status(400).json({ error: "email and password are required" });
    }
    if (!(await verify(hash, password))) {
      return res.status(401).json({ error: "Invalid email or password" });
    }
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.email = email;
      req.session.save((error) => {
        if (error) return next(error);
        res.json({ email });
      });
    });
  } catch (error) {
    next(error);
  }
});

app.get("/me", (req, res) => {
  if (!req.session.email) return res.status(401).json({ error: "Not signed in" });
  res.json({ email: req.session.email });
});

app.listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));

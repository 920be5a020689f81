# The app and API in one image: `docker compose up --build`.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build-frontend && cargo build --release -p api

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/api /usr/local/bin/api
COPY --from=build /src/dist /app/dist
# Listening beyond loopback, cookies are Secure: SESSION_SECRET and SMTP_URL (or, on purpose,
# NEW_DEVICE_EMAIL_CHECK=off) must be given at run time; docker-compose.yml gives both.
ENV BIND=0.0.0.0 PORT=8000 STATIC_DIR=/app/dist
EXPOSE 8000
USER nobody
CMD ["api"]

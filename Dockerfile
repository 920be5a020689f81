# API image (the frontend's dist/ is added by the frontend build when present).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p api

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/api /usr/local/bin/api
ENV BIND=0.0.0.0 PORT=8000
EXPOSE 8000
USER nobody
CMD ["api"]

# Build: compile the server into one executable with `bun run build`, the command CI uses.
FROM oven/bun:1.4.5 AS build
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production
COPY tsconfig.json bunfig.toml ./
COPY src ./src
COPY scripts ./scripts
# The server embeds the protocol reference it serves at /docs/protocol.md.
COPY docs/protocol.md ./docs/protocol.md
RUN bun run build

# Run: a slim image with only the executable, as a non-root user.
FROM debian:bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="chat-server" \
      org.opencontainers.image.description="Real-time chat server: rooms, presence, typing and history over WebSocket, a REST API, Prometheus metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.documentation="README.md and docs/operations.md in the source" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
RUN useradd --system --uid 10001 --no-create-home chat
COPY --from=build /app/dist/chat-server /usr/local/bin/chat-server
# Settings come from the environment or flags (see `chat-server --help`). The server writes
# the URL it listens on to ADDRESS_FILE, and the health check asks that URL: it follows
# `docker run chat --port 4001` (a flag its own command line lacks) as well as `-e PORT=4001`.
ENV HOST=0.0.0.0 PORT=3000 LOG_FORMAT=json ADDRESS_FILE=/tmp/chat-server.address
EXPOSE 3000
USER chat
# The slim image has no curl: the executable asks its own /health at the URL in ADDRESS_FILE
# (exit 0 on 200).
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/chat-server", "--health-check"]
# The server drains on SIGTERM (clients get a shutdown frame and close 1001).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/chat-server"]

# Build: compile the server into one executable.
FROM oven/bun:1.4.5 AS build
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production
COPY tsconfig.json bunfig.toml ./
COPY src ./src
RUN bun build --compile --minify --sourcemap src/main.ts --outfile /app/chat-server

# Run: a slim image with only the executable, as a non-root user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home chat
COPY --from=build /app/chat-server /usr/local/bin/chat-server
USER chat
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
# The server drains on SIGTERM (clients get a shutdown frame and close 1001).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/chat-server"]

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ripgrep curl ca-certificates procps python3 \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g --no-audit --no-fund @anthropic-ai/claude-code tsx typescript \
 && mkdir -p /home/user && chown 1000:1000 /home/user

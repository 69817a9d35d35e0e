FROM node:20-bookworm-slim
RUN npm install -g --no-audit --no-fund tsx typescript \
 && mkdir -p /home/user && chown 1000:1000 /home/user
USER 1000:1000
WORKDIR /home/user
RUN npm create vite@latest app -- --template vanilla \
 && cd app && npm install --no-audit --no-fund

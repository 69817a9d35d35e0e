FROM node:20-bookworm-slim
# The image's own "node" account has uid 1000; sandboxes use /home/user as its home.
RUN npm install -g --no-audit --no-fund tsx typescript \
 && mkdir -p /home/user && chown 1000:1000 /home/user

# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with dev dependencies, then drop them.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# Runtime stage: production dependencies and dist/ only, as the unprivileged node user.
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production SWITCHGUARD_PROFILE=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node config ./config
USER node
EXPOSE 8443 8444 9464
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]

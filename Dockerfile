# syntax=docker/dockerfile:1
# switchguard image: pinned Node 24 LTS (the same version .ci/run tests on), non-root, production profile.
# Invariants checked statically by test/unit/deploy/dockerfile.test.ts (no engine runs in CI).

# Build stage: compile TypeScript with the dev dependencies.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, installed afresh (no dev dependency can leak through a prune).
FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Runtime stage: node, production node_modules, dist/ and the CLI; no npm, no compilers, no sources.
FROM node:24.21.0-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="switchguard" \
      org.opencontainers.image.description="Security gateway for Mojaloop FSPIOP: mTLS, FSPIOP JWS, ILP conditions, Prometheus metrics" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:24.21.0-bookworm-slim"
ENV NODE_ENV=production \
    SWITCHGUARD_PROFILE=production \
    KEYS_DIR=/var/lib/switchguard/keys
# The package managers are not needed at run time: remove them (less to exploit, nothing to install with).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && mkdir -p /var/lib/switchguard && chown 1000:1000 /var/lib/switchguard
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
# Numeric uid/gid (the image's `node` user) so Kubernetes' runAsNonRoot can verify it; the code is root-owned
# and read-only to it.
USER 1000:1000
EXPOSE 8443 8444 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ADMIN_LISTEN_PORT||9464)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/main.js"]

# ebb's container image: `ebb run` (controller), `ebb activator`, or any other ebb command.
#
#   docker build -t ebb:0.1.0 .
#   docker run --rm -i ebb:0.1.0 validate /dev/stdin < scaledobject.yaml
#
# Three stages on the Node major .nvmrc pins (the current LTS; test/deploy/dockerfile.test.ts
# keeps the two in step):
#   build    all dependencies, TypeScript compiled to JavaScript (tsconfig.build.json -> dist/)
#   deps     production dependencies only (npm ci --omit=dev), no install scripts
#   runtime  node:<major>-slim with those two and package.json; runs as uid 1000 ("node"), no
#            shell needed, nothing written outside /tmp (the chart mounts an emptyDir there)
# The image runs the compiled output, so it needs neither tsx nor esbuild (devDependencies).
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency would fetch a second Node runtime; tsc needs none.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scalers ./scalers
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-slim AS runtime
# `docker build --build-arg GIT_COMMIT=$(git rev-parse --short HEAD)`: shown by `ebb --version`
# and the ebb_build_info metric (src/observability/build-info.ts).
ARG GIT_COMMIT=""
ENV NODE_ENV=production EBB_GIT_COMMIT=${GIT_COMMIT}
# V8's old space sized from the container's memory limit: libuv reads the cgroup's (v2
# memory.max, v1 memory.limit_in_bytes), else the machine's memory. Half of it: the rest of RSS
# (young generation, code, TLS and socket buffers) is 100-150 MB at 10,000 objects. Without it V8
# grows the heap lazily towards its own default and RSS follows garbage, not the live set.
# Override with the pod's NODE_OPTIONS (this flag wins over --max-old-space-size).
ENV NODE_OPTIONS=--max-old-space-size-percentage=50
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# dist/ mirrors the source tree (src/, scalers/) with package.json at its top, where
# src/observability/build-info.ts imports it from (tsc copies it into dist/); the COPY below
# puts the checkout's own there too, for npm's sake.
COPY --from=build /app/dist/ ./
COPY package.json ./
# The official image's "node" user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# activator proxy, health, metrics, activator reports, external metrics adapter (HTTPS).
EXPOSE 8080 8081 9090 9091 6443
ENTRYPOINT ["node", "src/main.js"]
CMD ["--help"]

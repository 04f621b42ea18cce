# syntax=docker/dockerfile:1
# GopherShip container image: docker build -t gophership:dev .
#
# The build stage compiles the native addon (node-gyp: python3, make, g++) and the
# TypeScript; the runtime stage is distroless Node.js 20: no shell, no package manager,
# running as the image's non-root user (65532). See deployments/README.md.

FROM node:20-bookworm AS build
# node-gyp builds against the headers the image ships instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json binding.gyp tsconfig.json ./
COPY native ./native
COPY proto ./proto
COPY src ./src
COPY test ./test
COPY bench ./bench
# npm ci runs the install script (node-gyp rebuild) and prepare (tsc); then only the
# runtime dependencies are kept for the next stage.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /opt/gophership
# The addon, proto/ and package.json are found relative to dist/src, as in a checkout.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/build/Release/gophership_native.node ./build/Release/gophership_native.node
COPY --from=build /src/proto ./proto
COPY --from=build /src/dist/src ./dist/src
USER 65532:65532
# OTLP/gRPC, and the metrics and health endpoint.
EXPOSE 4317 9464
# Without --config the embedded defaults apply (loopback only): mount a configuration at
# /etc/gophership/gophership.yaml, as every manifest in deployments/ does.
ENTRYPOINT ["/nodejs/bin/node", "/opt/gophership/dist/src/supervisor/cli.js"]
CMD ["run", "--config", "/etc/gophership/gophership.yaml"]

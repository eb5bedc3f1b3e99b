# Kluis as a container on the official Azure Functions Node 20 base image, for self-hosting on a cluster
# (AKS, Azure Stack Hub, on premises; deploy/k8s has the manifests with KEDA). Two stages: the first builds
# and packages the app (`npm run package`: dist plus production dependencies, no emulator, Azurite or dev
# dependencies), the second is the Functions host with only that package in it, running as a non-root user.
# Not built here (no registry is reachable offline): test/infra/container.test.ts checks it statically.

FROM mcr.microsoft.com/azure-functions/node:4-node20 AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; the build runs below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json host.json ./
COPY functions ./functions
COPY orchestrations ./orchestrations
COPY lib ./lib
COPY web ./web
COPY infra/package.js ./infra/package.js
RUN npx tsc -p tsconfig.json && npm run build:web && node infra/package.js /package

FROM mcr.microsoft.com/azure-functions/node:4-node20
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=node \
    ASPNETCORE_URLS=http://+:8080 \
    MALLOC_MMAP_THRESHOLD_=131072
COPY --from=build /package /home/site/wwwroot
# A user without privileges; the host listens on 8080 (a port below 1024 would need root).
RUN groupadd --gid 10001 kluis && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin kluis
USER 10001:10001
EXPOSE 8080

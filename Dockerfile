# syntax=docker/dockerfile:1
# ChatOpsPull: build and publish with the .NET SDK (self-contained), run on the chiseled runtime-deps image as a
# non-root user.
#   docker build -t chatopspull .
#   docker run --rm -p 8080:8080 -v chatopspull-data:/data chatopspull
# The runtime image has no shell and no package manager; the bot writes only to /data (the volume) and /tmp, so it runs
# with a read-only root filesystem. Base images are pinned to exact versions (bump them together with global.json);
# append @sha256:… digests from your registry mirror to pin them by content too.

ARG SDK_VERSION=10.0.401-noble
ARG RUNTIME_DEPS_VERSION=10.0.12-noble-chiseled-extra

FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:${SDK_VERSION} AS build
ARG TARGETARCH
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Restore first, from the project files only, so source edits do not invalidate the package layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ChatOpsPull.Core/ChatOpsPull.Core.csproj src/ChatOpsPull.Core/
COPY src/ChatOpsPull/ChatOpsPull.csproj src/ChatOpsPull/
COPY src/ChatOpsPull.Simulation/ChatOpsPull.Simulation.csproj src/ChatOpsPull.Simulation/
# ReadyToRun, composite and self-contained: the bot, its packages and the .NET runtime and ASP.NET Core are compiled
# ahead of time for the target (crossgen2) into one image, so a cold start and the first storm after it run
# precompiled code instead of waiting for the JIT, including the framework's generic code over the bot's own types
# (async state machines, JSON converters), which a framework-dependent image cannot hold (docs/benchmarks.md).
# Restore must know all three, to fetch crossgen2 and the runtime packs.
RUN dotnet restore src/ChatOpsPull/ChatOpsPull.csproj --arch "$TARGETARCH" -p:PublishReadyToRun=true -p:SelfContained=true
COPY src/ src/
# The Teams app package source, embedded in the executable (chatopspull teams-package).
COPY manifests/teams/ manifests/teams/
RUN dotnet publish src/ChatOpsPull/ChatOpsPull.csproj --configuration Release --no-restore --arch "$TARGETARCH" \
        --self-contained true -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true --output /app \
    && mkdir -p /data

# "extra": the chiseled image with ICU and time zone data (the bot formats times and sorts names culture-aware).
# runtime-deps: the operating system libraries .NET needs and nothing else; the runtime comes with the bot.
FROM mcr.microsoft.com/dotnet/runtime-deps:${RUNTIME_DEPS_VERSION} AS runtime
WORKDIR /app
COPY --from=build /app ./
# The data directory (embedded SQLite database and Hangfire's file) belongs to the image's non-root "app" user (uid 1654).
COPY --from=build --chown=1654:1654 /data /data
ENV CHATOPSPULL__Urls=http://0.0.0.0:8080 \
    CHATOPSPULL__Bot__DataDirectory=/data \
    DOTNET_EnableDiagnostics=0 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
VOLUME ["/data"]
EXPOSE 8080
USER 1654:1654
# No curl or wget in this image: the executable checks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/app/chatopspull", "healthcheck", "--url", "http://127.0.0.1:8080/healthz", "--timeout-seconds", "3"]
ENTRYPOINT ["/app/chatopspull"]
CMD ["serve"]

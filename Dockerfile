# syntax=docker/dockerfile:1
# ChatOpsPull: build and publish with the .NET SDK, run on the chiseled ASP.NET runtime image as a non-root user.
#   docker build -t chatopspull .
#   docker run --rm -p 8080:8080 -v chatopspull-data:/data chatopspull
# The runtime image has no shell and no package manager; the bot writes only to /data (the volume) and /tmp, so it runs
# with a read-only root filesystem. Base images are pinned to exact versions (bump them together with global.json);
# append @sha256:… digests from your registry mirror to pin them by content too.

ARG SDK_VERSION=10.0.401-noble
ARG RUNTIME_VERSION=10.0.12-noble-chiseled-extra

FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:${SDK_VERSION} AS build
ARG TARGETARCH
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Restore first, from the project files only, so source edits do not invalidate the package layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ChatOpsPull.Core/ChatOpsPull.Core.csproj src/ChatOpsPull.Core/
COPY src/ChatOpsPull/ChatOpsPull.csproj src/ChatOpsPull/
COPY src/ChatOpsPull.Simulation/ChatOpsPull.Simulation.csproj src/ChatOpsPull.Simulation/
# ReadyToRun: the bot and its packages are compiled ahead of time for the target (crossgen2), so a cold start and the
# first storm after it run precompiled code instead of waiting for the JIT (restore must know, to fetch crossgen2).
RUN dotnet restore src/ChatOpsPull/ChatOpsPull.csproj --arch "$TARGETARCH" -p:PublishReadyToRun=true
COPY src/ src/
# The Teams app package source, embedded in the executable (chatopspull teams-package).
COPY manifests/teams/ manifests/teams/
RUN dotnet publish src/ChatOpsPull/ChatOpsPull.csproj --configuration Release --no-restore --arch "$TARGETARCH" \
        --self-contained false -p:PublishReadyToRun=true --output /app \
    && mkdir -p /data

# "extra": the chiseled image with ICU and time zone data (the bot formats times and sorts names culture-aware).
FROM mcr.microsoft.com/dotnet/aspnet:${RUNTIME_VERSION} AS runtime
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
    CMD ["dotnet", "/app/chatopspull.dll", "healthcheck", "--url", "http://127.0.0.1:8080/healthz", "--timeout-seconds", "3"]
ENTRYPOINT ["dotnet", "/app/chatopspull.dll"]
CMD ["serve"]

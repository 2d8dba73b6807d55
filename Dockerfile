# syntax=docker/dockerfile:1
# ChatOpsPull: build and publish with the .NET SDK, run on the ASP.NET runtime image as a non-root user.
#   docker build -t chatopspull .
#   docker run --rm -p 8080:8080 -v chatopspull-data:/data chatopspull
# The image is read-only-root-filesystem friendly: it writes only to /data (the volume) and /tmp.

ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Restore first, from the project files only, so source edits do not invalidate the package layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ChatOpsPull.Core/ChatOpsPull.Core.csproj src/ChatOpsPull.Core/
COPY src/ChatOpsPull/ChatOpsPull.csproj src/ChatOpsPull/
RUN dotnet restore src/ChatOpsPull/ChatOpsPull.csproj
COPY src/ src/
RUN dotnet publish src/ChatOpsPull/ChatOpsPull.csproj --configuration Release --no-restore --output /app

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
WORKDIR /app
# The data directory (embedded SQLite database) belongs to the image's non-root "app" user (uid 1654).
RUN mkdir -p /data && chown "$APP_UID:$APP_UID" /data
COPY --from=build /app ./
ENV Urls=http://0.0.0.0:8080 \
    Bot__DataDirectory=/data \
    DOTNET_EnableDiagnostics=0 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
VOLUME ["/data"]
EXPOSE 8080
USER $APP_UID
# No curl or wget in this image: the executable checks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["dotnet", "/app/chatopspull.dll", "healthcheck", "--url", "http://127.0.0.1:8080/healthz", "--timeout-seconds", "3"]
ENTRYPOINT ["dotnet", "/app/chatopspull.dll"]
CMD ["serve"]

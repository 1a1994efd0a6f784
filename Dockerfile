# syntax=docker/dockerfile:1
#
# Floe broker image: one static binary on distroless, run as a non-root user.
#
#   docker build -t floe:local .
#   docker run --rm -p 8080:8080 -e FLOE_DATABASE_URL=... -e FLOE_S3_BUCKET=... floe:local
#
# With -v floe-secrets:/var/lib/floe-secrets -e FLOE_BOOTSTRAP_ADMIN_KEY_FILE=/var/lib/floe-secrets/admin-key
# the node generates a bootstrap admin key on first start, keeps it in the volume and logs it once.
#
# The same image runs every role (FLOE_ROLES) and the commands serve (default),
# migrate, health and version. (`floe dev` needs a local PostgreSQL installation
# and is not meant for this image.)

ARG GO_VERSION=1.26

# ---- build ------------------------------------------------------------------
# Built on the build host's platform and cross-compiled, so a multi-arch build
# (docker buildx build --platform linux/amd64,linux/arm64) never runs Go under emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

# Dependencies first: this layer is cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
# `floe version` prints them (the build context has no .git to read them from):
# docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse --short HEAD) .
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath \
      -ldflags="-s -w -X github.com/floemq/floe/services.Version=${VERSION} -X github.com/floemq/floe/services.Commit=${COMMIT}" \
      -o /out/floe ./cmd/floe
# The mount point of the secrets volume (docker-compose.yml: the generated bootstrap admin
# key). The runtime image has no shell to make it, so it is made here and copied.
RUN mkdir -m 0700 /out/floe-secrets

# ---- runtime ----------------------------------------------------------------
# distroless/static: CA certificates, tzdata and /etc/passwd with a nonroot user
# (uid 65532), no shell and no package manager. There is no curl either: the
# health check is the binary itself (`floe health` GETs /healthz on FLOE_LISTEN).
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/floe /floe
# Owned by nonroot (uid 65532): a named volume mounted here copies this owner on first
# use, so floe can write --bootstrap-admin-key-file /var/lib/floe-secrets/admin-key.
COPY --from=build --chown=65532:65532 --chmod=700 /out/floe-secrets /var/lib/floe-secrets

USER nonroot:nonroot
WORKDIR /home/nonroot
ENV FLOE_LISTEN=:8080 \
    FLOE_LOG_FORMAT=json
EXPOSE 8080

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/floe", "health"]

ENTRYPOINT ["/floe"]
CMD ["serve"]

# syntax=docker/dockerfile:1

# Build a static binary: the SQLite driver is pure Go, so CGO is off and
# the runtime image needs no libc.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gavel ./cmd/gavel \
 && mkdir -p /out/data

# distroless/static: CA certificates and tzdata, no shell, a nonroot user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gavel /gavel
# SQLite file and embedded NATS store when DATABASE_URL / NATS_URL are unset.
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV GAVEL_DATA_DIR=/data
USER nonroot:nonroot
VOLUME /data
EXPOSE 8080
# No curl in the image: the binary checks itself.
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 CMD ["/gavel", "healthcheck"]
ENTRYPOINT ["/gavel"]
CMD ["serve"]

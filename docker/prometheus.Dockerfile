# Prometheus for the compose stack, from Debian's package (no registry needed): built on the local base.
ARG BASE_IMAGE=faceseal-base:bookworm
FROM ${BASE_IMAGE}
COPY prometheus /usr/bin/prometheus
USER 65534:65534
ENTRYPOINT ["/usr/bin/prometheus"]

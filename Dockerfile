# CyberMiles node image: `docker build -t cmnode .` then
#   docker run -p 8545:8545 -v cmnode-data:/data cmnode            (a local dev chain)
#   docker run -v /path/to/home:/data cmnode start --home /data     (an initialised node home)
#   docker compose up                                              (a 4-validator testnet, see docker-compose.yml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CMNODE_HOME=/data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY cybermiles_node ./cybermiles_node
COPY consensus ./consensus
COPY vm ./vm
COPY middleware ./middleware
COPY p2p ./p2p
COPY rpc ./rpc
COPY genesis ./genesis
RUN pip install --no-cache-dir . && rm -rf /src

RUN useradd --create-home --uid 1000 cmnode && mkdir -p /data /testnet && chown cmnode /data /testnet
USER cmnode
WORKDIR /data
VOLUME ["/data"]

# JSON-RPC (HTTP + WebSocket), p2p and metrics (with --metrics-addr)
EXPOSE 8545 26656 26660

# Liveness: GET /health on the JSON-RPC port (set CMNODE_HEALTH_URL when the node serves elsewhere).
# Readiness (synced, peers, recent block) is GET /ready; see docs/operations.md.
ENV CMNODE_HEALTH_URL=http://127.0.0.1:8545/health
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(os.environ['CMNODE_HEALTH_URL'], timeout=3)"

ENTRYPOINT ["cmnode"]
CMD ["start", "--dev", "--home", "/data", "--rpc-addr", "0.0.0.0:8545"]

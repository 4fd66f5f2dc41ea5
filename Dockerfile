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

# JSON-RPC (HTTP + WebSocket) and p2p
EXPOSE 8545 26656

ENTRYPOINT ["cmnode"]
CMD ["start", "--dev", "--home", "/data", "--rpc-addr", "0.0.0.0:8545"]

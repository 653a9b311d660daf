# The image `hetsplit sweep --emit k8s` names (hetsplit:latest): docker build -t hetsplit .
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY assets ./assets
COPY platforms ./platforms
# onnxruntime-node is a test oracle only; its install script would download binaries.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN (npm ci --no-audit --no-fund || npm install --no-audit --no-fund) && npm run build && npm prune --omit=dev && npm link
ENTRYPOINT ["hetsplit"]

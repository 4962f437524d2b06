# Image for the examples (my_service, gateway). Untested here: these machines have no Docker engine.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY examples ./examples
COPY tools ./tools
ENV NODE_ENV=production
CMD ["node", "-r", "ts-node/register/transpile-only", "examples/my-service.ts"]

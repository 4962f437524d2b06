# Image of the example services (my_service, gateway) that docker-compose.yml runs.
# Stage 1 compiles the library and the examples; stage 2 resolves the runtime dependencies only;
# the final stage holds compiled JavaScript and those dependencies, and runs as the `node` user.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY deploy/tsconfig.examples.json ./deploy/
COPY src ./src
COPY examples ./examples
RUN npx tsc -p deploy/tsconfig.examples.json

FROM node:20-slim AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Express is only a peer (and dev) dependency of the library, but the examples need it at run time:
# make it a production dependency at the locked version, then install production dependencies only.
RUN express=$(node -p "require('./package-lock.json').packages['node_modules/express'].version") \
 && npm pkg delete devDependencies.express \
 && npm pkg set "dependencies.express=$express" \
 && npm install --package-lock-only --prefer-offline --no-audit --no-fund --ignore-scripts \
 && npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/out ./
USER node
EXPOSE 3000
CMD ["node", "examples/my-service.js"]

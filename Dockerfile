# One image for the API and the worker (docker-compose.yml's `command` picks which).
# Two stages: the build (every dependency, tsc and the prebuilt workflow bundle),
# then a slim runtime with production dependencies and the compiled code only,
# run by node as the unprivileged `node` user. No TypeScript runs in production.
ARG NODE_VERSION=24.22.3

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY activities ./activities
COPY services ./services
COPY core ./core
COPY db ./db
COPY workflows ./workflows
COPY worker ./worker
COPY scripts/build.ts ./scripts/build.ts
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
CMD ["node", "dist/api/server.js"]

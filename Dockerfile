# One image for the API and the worker (docker-compose.yml's `command` picks which).
# Runs TypeScript with tsx, like `npm run dev`; the worker bundles workflows/ at start.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The lock file may miss other platforms' optional binaries; npm install then installs the same locked versions.
RUN npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY api ./api
COPY activities ./activities
COPY services ./services
COPY core ./core
COPY db ./db
COPY workflows ./workflows
COPY worker ./worker
USER node
EXPOSE 3000
CMD ["npx", "tsx", "api/server.ts"]

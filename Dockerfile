# One image for the API and the worker (the command picks which).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund
COPY api ./api
COPY activities ./activities
COPY core ./core
COPY db ./db
COPY workflows ./workflows
COPY worker ./worker
COPY tsconfig.json ./
USER node
EXPOSE 3000
CMD ["npx", "tsx", "api/server.ts"]

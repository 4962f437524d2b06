import type { Request, RequestHandler, Response } from 'express';
import type { Registry } from 'prom-client';

/** An Express handler that serves `registry` in Prometheus' text format (for `app.get('/metrics', ...)`). */
export function metricsHandler(registry: Registry): RequestHandler {
  return (_request: Request, response: Response): void => {
    registry.metrics().then(
      (text) => {
        response.setHeader('content-type', registry.contentType);
        response.end(text);
      },
      () => {
        response.status(500).end('metrics collection failed\n');
      },
    );
  };
}

import type { Request, RequestHandler, Response } from 'express';
import { evaluateHealth, httpStatusOf } from '../health/evaluate-health';
import type { HealthIndicator } from '../health/health-indicator';

/**
 * The route Consul's HTTP check calls: 200 passing, 429 warning, 503 critical, with a body that
 * only names states (Consul stores check output where anyone with read access can see it).
 */
export function healthRoute(
  indicators: readonly HealthIndicator[],
  indicatorTimeoutMs: number,
  isDraining: () => boolean,
): RequestHandler {
  return (_request: Request, response: Response): void => {
    response.setHeader('cache-control', 'no-store');
    if (isDraining()) {
      response.status(503).json({ status: 'critical', draining: true });
      return;
    }
    evaluateHealth(indicators, indicatorTimeoutMs).then(
      (report) => {
        response.status(httpStatusOf(report.status)).json(report);
      },
      () => {
        response.status(503).json({ status: 'critical' });
      },
    );
  };
}

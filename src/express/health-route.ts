import type { Request, RequestHandler, Response } from 'express';
import { httpStatusOf } from '../health/evaluate-health';
import type { HealthEvaluator } from '../health/health-evaluator';

/**
 * The route Consul's HTTP check calls: 200 passing, 429 warning, 503 critical, with a body that
 * only names states (Consul stores check output where anyone with read access can see it).
 * Concurrent requests share one evaluation (see HealthEvaluator).
 */
export function healthRoute(evaluator: HealthEvaluator, isDraining: () => boolean): RequestHandler {
  return (_request: Request, response: Response): void => {
    response.setHeader('cache-control', 'no-store');
    if (isDraining()) {
      response.status(503).json({ status: 'critical', draining: true });
      return;
    }
    evaluator.evaluate().then(
      (report) => {
        response.status(httpStatusOf(report.status)).json(report);
      },
      () => {
        response.status(503).json({ status: 'critical' });
      },
    );
  };
}

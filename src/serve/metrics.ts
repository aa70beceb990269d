/** The server's Prometheus metrics (prom-client, one registry per server): requests, errors, latency, batch sizes. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics a server records and exposes on GET /metrics. */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Requests answered, by route and status code. */
  readonly requests = new Counter({ name: 'kestrel_requests_total', help: 'HTTP requests answered, by route and status code', labelNames: ['route', 'code'], registers: [this.registry] });
  /** Errors by kind (bad_image, too_large, timeout, busy, internal, ...). */
  readonly errors = new Counter({ name: 'kestrel_errors_total', help: 'Requests that failed, by kind', labelNames: ['kind'], registers: [this.registry] });
  /** Images predicted. */
  readonly images = new Counter({ name: 'kestrel_images_total', help: 'Images predicted', registers: [this.registry] });
  /** Latency of /predict from the first byte to the answer. */
  readonly latency = new Histogram({
    name: 'kestrel_request_duration_seconds', help: 'Latency of POST /predict', registers: [this.registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  /** Images per forward pass. */
  readonly batchImages = new Histogram({ name: 'kestrel_batch_images', help: 'Images per forward pass', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [this.registry] });
  /** Requests per forward pass. */
  readonly batchRequests = new Histogram({ name: 'kestrel_batch_requests', help: 'Requests per forward pass', buckets: [1, 2, 4, 8, 16, 32, 64], registers: [this.registry] });
  /** Requests being handled now. */
  readonly inFlight = new Gauge({ name: 'kestrel_requests_in_flight', help: 'Requests being handled', registers: [this.registry] });

  /** A fresh registry; `processMetrics` adds prom-client's process metrics (memory, CPU, event-loop lag). */
  constructor(processMetrics = true) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kestrel_' });
  }

  /** Records one forward batch. */
  observeBatch(requests: number, images: number): void {
    this.batchRequests.observe(requests);
    this.batchImages.observe(images);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of text(). */
  get contentType(): string {
    return this.registry.contentType;
  }
}

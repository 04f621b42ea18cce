/** The exporter process's counters, labelled by exporter name (`otlp_grpc[0]`). */
import { Counter } from 'prom-client';
import { registry } from '../common/metrics';

export const exportMetrics = {
  logRecords: new Counter({
    name: 'gophership_export_log_records_total',
    help: 'LogRecords the downstream accepted.',
    labelNames: ['exporter'],
    registers: [registry],
  }),
  rejectedLogRecords: new Counter({
    name: 'gophership_export_rejected_log_records_total',
    help: 'LogRecords the downstream refused in a partial success (rejected_log_records); not retried.',
    labelNames: ['exporter'],
    registers: [registry],
  }),
  retries: new Counter({
    name: 'gophership_export_retries_total',
    help: 'Requests sent again after a retryable failure.',
    labelNames: ['exporter'],
    registers: [registry],
  }),
  deadLettered: new Counter({
    name: 'gophership_export_dead_lettered_requests_total',
    help: 'Requests written to the dead-letter file because the downstream refused them for good.',
    labelNames: ['exporter'],
    registers: [registry],
  }),
};

/**
 * This process's Prometheus registry. Every process registers its own metrics here; the
 * supervisor serves them all, gathered from its children.
 */
import { Registry } from './prom-lite';

export const registry = new Registry();

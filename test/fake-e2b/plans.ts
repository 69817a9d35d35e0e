/**
 * E2B's plans, as far as the API enforces them: a team's `MaxLengthHours` caps a sandbox's lifetime counted
 * from its last start (packages/api/internal/handlers/timeout_helper.go validateAndParseTimeout: create and
 * connect answer 400 above it; packages/api/internal/orchestrator/keep_alive.go getMaxAllowedTTL: setTimeout
 * silently caps at it), and its concurrent-instance limit makes create answer 429
 * (packages/api/internal/orchestrator/create_instance.go, no Retry-After). Numbers from https://e2b.dev/pricing.
 */
export interface Plan {
  name: 'hobby' | 'pro';
  maxLengthHours: number;
  concurrentSandboxes: number;
}

export const PLANS: Readonly<Record<Plan['name'], Plan>> = {
  hobby: { name: 'hobby', maxLengthHours: 1, concurrentSandboxes: 20 },
  pro: { name: 'pro', maxLengthHours: 24, concurrentSandboxes: 100 },
};

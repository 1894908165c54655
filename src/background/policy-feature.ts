/** Enterprise policy as a feature: loaded first at start, watched live, shown to the options page. */
import { effectiveSettings } from '../shared/policy/effective';
import { feature } from './feature';
import { loadPolicy, policySettled, watchPolicy } from './policy';

export const policyFeature = feature({
  handlers: {
    'policy.state': async () => {
      const { managed, problems, policy } = await policySettled();
      const locks = Object.entries(effectiveSettings(policy).locks)
        .filter(([, on]) => on)
        .map(([k]) => k);
      return { managed, problems: problems.map((p) => ({ path: p.path, message: p.message })), locks };
    },
  },
  init: async () => {
    await loadPolicy();
  },
  register: () => watchPolicy(),
});

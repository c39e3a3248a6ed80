// One import per feature view (see registry.js). Health is shown by the
// core views whenever a webhook carries it.
import './rotate.js';
import './filter.js';
import './recover.js';
import './batch.js';

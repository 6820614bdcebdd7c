// The float64 reference runner as a plain ES-module adapter for a browser page: what a correct browser
// adapter looks like to the harness. Its import is bundled for the page by the browser host.
import { ReferenceRunner } from '../../../runners/reference/runner';

export default { name: 'reference-in-a-page', runner: () => new ReferenceRunner() };

// The cut-over steps of docs/migrating-from-keda.md, in order: the integration test walks them
// (test/integration/migration.test.ts) and procedure.test.ts checks the doc lists the same.
export const PROCEDURE = [
  'Install ebb beside KEDA, adapter off',
  'Convert the manifests and read the report',
  "Hand one workload over: pause KEDA's ScaledObject",
  "Apply ebb's ScaledObject (direct mode)",
  "Delete KEDA's objects while KEDA still runs",
  'Uninstall KEDA, then give the external-metrics API to ebb',
  'Optional: HPA mode',
] as const;

/** `### N. Title` headings of the doc, in order, with the first shell block under each. */
export const docSteps = (markdown: string): { title: string; commands: string[] }[] =>
  markdown
    .split(/^### /m)
    .slice(1)
    .map((section) => {
      const title = (section.split('\n')[0] ?? '').replace(/^\d+\.\s*/, '');
      const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
      return {
        title,
        commands: block
          .trim()
          .split('\n')
          .filter((l) => l !== ''),
      };
    });

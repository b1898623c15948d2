import type { ComponentChildren } from 'preact';

/** A data table as every page shows one: the load error above it, a caption for screen readers, column heads. */
export function Grid(props: { caption: string; columns: ComponentChildren[]; loading: boolean; error: Error | null; children: ComponentChildren }) {
  return (
    <>
      {props.error && <p class="error" role="alert">{props.error.message}</p>}
      <table class="grid" aria-busy={props.loading}>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c, i) => <th key={i} scope="col">{c}</th>)}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </>
  );
}

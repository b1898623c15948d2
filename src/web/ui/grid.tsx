import type { ComponentChildren } from 'preact';

/**
 * A data table as every page shows one: the load error above it, a caption for screen readers,
 * column heads. `cols` names each column's class (on its <col> and head): the table lays out at the width of the
 * page, never wider, whatever its cells hold (long values wrap inside their column).
 */
export function Grid(props: { caption: string; columns: ComponentChildren[]; cols?: string[]; loading: boolean; error: Error | null; children: ComponentChildren }) {
  return (
    <>
      {props.error && <p class="error" role="alert">{props.error.message}</p>}
      <table class="grid" aria-busy={props.loading}>
        <caption class="sr-only">{props.caption}</caption>
        {props.cols && (
          <colgroup>
            {props.cols.map((c, i) => <col key={i} class={c} />)}
          </colgroup>
        )}
        <thead>
          <tr>
            {props.columns.map((c, i) => <th key={i} scope="col" class={props.cols?.[i]}>{c}</th>)}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </>
  );
}

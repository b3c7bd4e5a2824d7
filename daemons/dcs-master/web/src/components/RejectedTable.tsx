import type { RejectedEvent } from '../api/types';
import { Table, Td, Th } from './ui/table';

/** The master's refused events as a table (the Rejected view and a store's page). */
export function RejectedTable({ rows, caption }: { rows: RejectedEvent[]; caption: string }) {
  return (
    <Table caption={caption}>
      <thead>
        <tr>
          <Th numeric>Region</Th>
          <Th numeric>Position</Th>
          <Th>Event id</Th>
          <Th>Reason</Th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.region}/${r.position}/${r.event_id}`}>
            <Td numeric>{r.region}</Td>
            <Td numeric>{r.position.toLocaleString()}</Td>
            <Td className="mono wrap">{r.event_id}</Td>
            <Td>{r.reason}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

import { Badge } from './ui/badge';

/** Units on hand, with a badge when negative or out of stock (the Stock view and a store's page). */
export function OnHand({ units }: { units: number }) {
  return (
    <>
      {units.toLocaleString()}
      {units < 0 && (
        <>
          {' '}
          <Badge tone="bad">negative</Badge>
        </>
      )}
      {units === 0 && (
        <>
          {' '}
          <Badge tone="warn">out of stock</Badge>
        </>
      )}
    </>
  );
}

/**
 * The associated data a volume key generation is sealed with: it names the row, so sealed bytes
 * moved to another row do not open. Generation 1 keeps the AAD keys had before generations
 * existed (`volume|<hotkey>|<vm>|<volume>`, so those rows open unchanged); later generations
 * bind their number (`…|<volume>|<generation>`), so bytes moved to another generation of the
 * same volume fail too. Volume names, VM names and ss58 hotkeys cannot contain `|`, so the two
 * forms never collide.
 */
export function volumeAad(hotkey: string, vmName: string, volume: string, generation: number): string {
  if (!Number.isInteger(generation) || generation < 1) throw new Error(`invalid generation ${generation}`);
  return generation === 1 ? `volume|${hotkey}|${vmName}|${volume}` : `volume|${hotkey}|${vmName}|${volume}|${generation}`;
}

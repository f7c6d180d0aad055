/** README.md's generated blocks (readme-blocks.mjs). */
export function readmeBlock(readme: string, name: string): string | undefined;
export function writeReadmeBlocks(root: string, bodies: Record<string, string>): void;

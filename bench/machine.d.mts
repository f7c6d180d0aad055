/** The date and the machine a bench ran on (machine.mjs). */
export function machineLine(now?: Date): string;

/** Rounds to `d` decimals: figures are printed for people, not for further arithmetic. */
export const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d

/** The middle value (the upper one for an even count): robust against one slow outlier in few runs. */
export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

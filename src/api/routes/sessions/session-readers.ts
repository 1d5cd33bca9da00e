/** Who may read a session, its state and its snapshots. */
export const sessionReaders = ['game_server', 'analyst', 'admin'] as const;

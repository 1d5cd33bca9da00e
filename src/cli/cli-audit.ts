/** Who the CLI's audit entries name: the operator at the command line, not an API key. */
export const cliActor = 'cli';

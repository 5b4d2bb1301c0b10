// Who is who in a room: the two sides, and those who only read.

export const PARTIES = ['client', 'freelancer'];

// They read; they never write in a channel, propose, or answer a proposal.
export const OBSERVERS = ['auditor', 'arbitrator', 'observer'];

import{a as e,b as r}from"./ETI2IGCD.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as PacketModule,r as createPacketServices};

import{a as e,b as r}from"./3YM4INCV.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as WardleyModule,r as createWardleyServices};

import{a as e,b as r}from"./UXZPEHMA.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as CynefinModule,r as createCynefinServices};

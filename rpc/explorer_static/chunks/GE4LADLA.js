import{a as e,b as o}from"./6QBLGYUY.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as EventModelingModule,o as createEventModelingServices};
